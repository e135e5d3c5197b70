#!/usr/bin/env python
import sys


def main() -> None:
    # The settings module comes from SHADAN_ENV (or a developer checkout's .local-keys.env):
    # a production host never runs on development settings by omission (config/environment.py).
    from config.environment import configure

    configure(sys.argv[1] if len(sys.argv) > 1 else None)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
