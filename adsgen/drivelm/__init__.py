"""adsgen.drivelm"""
