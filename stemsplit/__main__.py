import sys

from stemsplit.cli import main

sys.exit(main())
