"""Pictures drawn with matplotlib (`renderer`: bot.pictures.PictureRenderer), and saved as files
for the console (`files`).

matplotlib is imported only by this package's drawing modules (bot/ may not import it: an
import-linter contract); importing `handlers.pictures.files` does not load it.
"""
