"""The finetune-controller: datasets in, fine-tuned (and on Azure, deployed) models out."""

__version__ = "0.1.0"

NAME = "finetune-controller"
"""The service's name: ``distillery run finetune-controller``, its consumer groups, its logs."""
SCHEMA = "finetune_controller"
"""The PostgreSQL schema holding its tables; the service and its views open it by this name."""
