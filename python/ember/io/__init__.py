"""ember.io: safetensors files (ember.save / ember.load) and full training checkpoints."""
from .checkpoint import load_checkpoint, save_checkpoint
from .files import atomic_write_text
from .safetensors import load, save

__all__ = ["save", "load", "save_checkpoint", "load_checkpoint", "atomic_write_text"]
