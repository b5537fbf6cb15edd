"""The ``memberpulse`` command line: package, deploy, run the local stack, drive it."""
