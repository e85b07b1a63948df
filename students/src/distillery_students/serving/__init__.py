"""``distillery serve``: an OpenAI-compatible server on transformers + PEFT with vLLM's LoRA routes.

It implements the subset of vLLM's API the platform uses (``/v1/chat/completions``,
``/v1/models``, ``/v1/load_lora_adapter``, ``/v1/unload_lora_adapter``), so the
finetune-controller and the router speak to it and to vLLM with the same code.
"""
