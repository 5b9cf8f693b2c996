"""adsgen.campaign"""
