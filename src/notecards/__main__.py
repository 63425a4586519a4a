"""`python -m notecards` runs the command line."""
from notecards.cli import app

app()
