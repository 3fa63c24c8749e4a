#!/usr/bin/env bash
# Runs inside the freshly created conda env (snakemake --use-conda): the packages whose declared
# dependencies must not be installed (they would add a second OpenCV, JAX or TensorFlow).
set -euo pipefail
python -m pip install --no-deps mediapipe==0.10.21 deepface==0.0.103
