"""Date formats per language (FORMAT_MODULE_PATH): English dates in the European order."""
