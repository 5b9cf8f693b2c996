"""adsgen.drivelm: DriveLM (the DriveLM-nuScenes challenge), QA generated from simulated scenes, and the VLM.

Three rooms, imported one way only (challenge <- qa <- vlm):

- ``challenge``: the challenge's file formats, closed-form answers, local scoring, submissions and test
  files. Needs neither torch nor the simulator.
- ``qa``: DriveLM-format QA generated from simulated scenes (ground truth from the engine).
- ``vlm``: the LLaVA vision-language model (loading, LoRA/DoRA adapters, prompt budget, depth words, zoom,
  training, prediction, the driving agent, the benchmark). torch / transformers / peft are imported lazily.

``commands`` is the CLI of the first two (``adsgen drivelm convert|validate|evaluate|submit|qa``);
``vlm.commands`` adds ``train|predict|compare`` and ``adsgen bench vlm``.
"""
