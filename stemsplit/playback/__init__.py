"""Real-time playback: a pure-numpy mixer and a sounddevice player. No Qt."""

from stemsplit.playback.devices import OutputDevice, list_output_devices
from stemsplit.playback.mixer import MIN_DB, Mixer, MixSettings, Transport, db_to_gain
from stemsplit.playback.player import MIX, Player
from stemsplit.playback.stream import PlaybackError

__all__ = ["MIN_DB", "MIX", "Mixer", "MixSettings", "OutputDevice", "PlaybackError",
           "Player", "Transport", "db_to_gain", "list_output_devices"]
