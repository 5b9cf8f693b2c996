"""adsgen.cbn"""
