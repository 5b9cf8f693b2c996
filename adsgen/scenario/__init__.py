"""adsgen.scenario"""
