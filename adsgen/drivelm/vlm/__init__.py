"""The vision-language model: a LLaVA loaded from a local folder (``model``, ``tiny``), LoRA/DoRA adapters
(``adapters``), DriveLM files as samples (``data``) and what the model sees (``inputs``, ``prompts``,
``budget``, ``depth``, ``zoom``), fine-tuning (``train``), answering (``predict``), the driving agent
(``agent``, registered as ``vlm:DIR`` and ``oracle``), ``adsgen bench vlm`` (``bench``) and the commands.

torch / transformers / peft are imported inside functions (``model.require_vlm``), so importing this package
does not need them.
"""
