"""adsgen.crashdata"""
