"""DriveLM-format QA generated from simulated scenes: the questions, answers and key objects of a keyframe from
the engine's ground truth (``generation``), and whole dataset folders with held-out scenes (``dataset``).

Builds on ``adsgen.drivelm.challenge`` (formats, choices); never imports ``adsgen.drivelm.vlm``.
"""
