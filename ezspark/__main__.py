"""``python -m ezspark`` runs the command line."""
from ezspark.cli import main

if __name__ == "__main__":
    main()
