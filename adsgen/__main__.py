from adsgen.cli import entry

entry()
