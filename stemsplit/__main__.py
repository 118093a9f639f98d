import sys

from stemsplit.cli.main import main

sys.exit(main())
