"""The trainer consumes no topic: its deliveries are HTTP requests, translated in ``http.py``
(OpenAI's files and fine-tuning API) into the use cases of ``services.py``."""
