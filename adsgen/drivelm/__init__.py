"""adsgen.drivelm: DriveLM data, scoring, submissions, QA generated from simulated scenes, and the VLM.

Import-light on purpose (no torch here): ``formats`` reads and writes every DriveLM file,
``scoring.evaluate`` scores predictions as the challenge does, ``submission`` builds the upload file,
``choices`` holds the closed-form answers, ``testset`` makes a challenge-style test file, ``qa_generation``
writes DriveLM QA from simulated keyframes. The model code (torch, transformers) lives in its own modules.
"""
