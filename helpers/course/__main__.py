"""``python -m helpers.course run ...``"""
import sys

from .cli import main

sys.exit(main())
