"""adsgen.sim"""
