"""notecards: paper-reading notes in Markdown -> Anki decks, by rules."""
from notecards.model import Bullet, Card, Document, Paper, SourceFile

__version__ = "0.1.0"
__all__ = ["Bullet", "Card", "Document", "Paper", "SourceFile", "__version__"]
