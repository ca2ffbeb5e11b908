"""Lets the real torchvision run on the CPU build of PyTorch, for tests only (never shipped, never in user projects).

The only torchvision wheel PyPI offers for torch 2.13.0 (torchvision 0.28.0) is a CUDA build: its C extension links
libtorch_cuda.so, which the CPU build of torch does not have, so the extension does not load. torchvision then fails at
import, because torchvision/_meta_registrations.py registers fake (meta) kernels for its C operators (nms, roi_align,
deform_conv2d, ...) and torch refuses a fake kernel for an operator that does not exist.

This file is on PYTHONPATH only in the tests that train transfer-learning projects (test/tools/pytest.sh installs the
wheel, with --no-deps, outside the venv). It skips those registrations for torchvision operators that are absent, and
nothing else: ResNet, ImageFolder and the transforms are pure Python over torch and run unchanged. Anything that
calls a missing operator (detection ops, torchvision.io decoding) still fails loudly.
"""

import torch.library

_register_fake = torch.library.register_fake


def _torchvision_operator_missing(name):
    namespace, _, operator = name.partition("::")
    if namespace != "torchvision":
        return False
    try:
        getattr(torch.ops.torchvision, operator).default
        return False
    except (AttributeError, RuntimeError):
        return True


def register_fake(op, *args, **kwargs):
    if isinstance(op, str) and _torchvision_operator_missing(op):
        # Used as a decorator (@register_fake("torchvision::nms")): hand the function back unregistered.
        return None if args else (lambda fn: fn)
    return _register_fake(op, *args, **kwargs)


torch.library.register_fake = register_fake
