"""adsgen.search"""
