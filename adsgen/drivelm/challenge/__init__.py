"""The DriveLM-nuScenes challenge: its file formats (``formats``), closed-form questions and the exact answer
forms the metric compares (``choices``), local scoring as the challenge does it (``scoring``), the upload file
(``submission``) and challenge-style test files (``testset``).

Imports nothing from ``qa`` or ``vlm``, and no torch: scoring runs on a bare install.
"""
