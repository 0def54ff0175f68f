#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["runlocal"]:
        # The one-command local run (`make run`) is a development process like the ones it starts: with
        # DEBUG off it would refuse to start on the development keys (config/startup_checks.py).
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
