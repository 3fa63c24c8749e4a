"""Training the lightweight FER2013 CNN (the seed's model) inside the workflow.

``data`` (image folders -> arrays, OpenCV augmentation) needs no torch; ``model``, ``loop`` and
``export`` import torch, the optional extra in requirements-train.txt / workflow/envs/train.yaml.
"""
