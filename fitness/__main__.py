from fitness.cli import entry_point

entry_point()
