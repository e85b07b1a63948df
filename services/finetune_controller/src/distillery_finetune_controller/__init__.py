"""The finetune-controller: datasets in, fine-tuned (and on Azure, deployed) models out."""

__version__ = "0.1.0"
