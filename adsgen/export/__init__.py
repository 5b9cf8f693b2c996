"""adsgen.export"""
