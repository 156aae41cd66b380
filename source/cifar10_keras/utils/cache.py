"""Train a network once, and reuse the result while the code and the data stay the same.

The notebook's long cells call ``utils.trained(build, train, xtrain, ytrain)``. The first call
builds and trains; it keeps the trained model and its history in a cache folder outside the
notebook's folder (``nbgrader submit`` hands in every file of that folder). Later calls with the
same source code of ``build`` and ``train`` (and of the notebook functions they use), the same
data and the same Keras load the result in seconds, so "Restart Kernel and Run All Cells" takes
minutes instead of hours.
"""

from __future__ import annotations

import gc
import hashlib
import inspect
import json
import os
import shutil
import tempfile
import time
import types
from pathlib import Path

CACHE_ENV = "CIFAR10_TRAINING_CACHE"
DEFAULT_CACHE = Path("~/.cache/cifar10-keras/training")


def cache_root() -> Path:
    """The folder that holds the saved trainings: $CIFAR10_TRAINING_CACHE or ~/.cache/..."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def _code_text(function, seen: set) -> str:
    """The source of *function* and, recursively, of the notebook functions and classes it names."""
    if id(function) in seen:
        return ""
    seen.add(id(function))
    try:
        text = inspect.getsource(function)
    except (OSError, TypeError):
        code = getattr(function, "__code__", None)
        text = repr((code.co_code, code.co_consts)) if code else repr(function)
    parts = [text]
    code = getattr(function, "__code__", None)
    scope = getattr(function, "__globals__", {})
    names = set(code.co_names) if code else set()
    for const in (code.co_consts if code else ()):
        if isinstance(const, types.CodeType):  # nested functions use names too
            names.update(const.co_names)
    for name in sorted(names):
        value = scope.get(name)
        if isinstance(value, (types.FunctionType, type)) and \
                getattr(value, "__module__", None) == getattr(function, "__module__", None):
            parts.append(_code_text(value, seen))
    return "\n".join(parts)


def _data_digest(*arrays) -> str:
    import numpy as np

    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def training_key(build, train, xtrain, ytrain) -> str:
    """What decides a training's result: the code, the data, Keras and its dtype policy."""
    import keras

    seen: set = set()
    parts = [_code_text(build, seen), _code_text(train, seen), _data_digest(xtrain, ytrain),
             keras.__version__, keras.backend.backend(), keras.mixed_precision.global_policy().name]
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()[:24]


def _history(saved: dict):
    import keras

    history = keras.callbacks.History()
    history.history = saved["history"]
    history.epoch = saved["epoch"]
    history.params = saved["params"]
    return history


def _load(folder: Path, build, train):
    import keras

    from . import training  # noqa: F401  (registers the course's own layers, which models may use)

    info = json.loads((folder / "history.json").read_text())
    custom = {name: value for name, value in vars(inspect.getmodule(build) or object()).items()
              if isinstance(value, type)}
    model = keras.saving.load_model(folder / "model.keras", custom_objects=custom, safe_mode=False)
    return model, _history(info), info


def trained(build, train, xtrain, ytrain, retrain: bool = False):
    """Return ``(model, history)``: *build()* trained by *train(model, xtrain, ytrain)*, or the
    saved result of the same training. ``retrain=True`` trains again whatever is saved."""
    import keras

    label = f"{build.__name__}/{train.__name__}"
    folder = cache_root() / training_key(build, train, xtrain, ytrain)
    if not retrain and (folder / "history.json").is_file():
        try:
            model, history, info = _load(folder, build, train)
        except Exception as error:  # a custom layer that does not load, a damaged file ...
            reason = (str(error).strip().splitlines() or [""])[0][:200]
            print(f"The saved training of {label} could not be loaded "
                  f"({type(error).__name__}: {reason}); training again.")
        else:
            when = time.strftime("%d %b %H:%M", time.localtime(info["finished"]))
            print(f"Reusing the training of {label} from {when} (it took "
                  f"{info['seconds'] / 60:.0f} min): the code and the data are unchanged. "
                  f"Pass retrain=True to train again.")
            return model, history

    from .precision import float32_output
    from .training import fit_without_copies

    started = time.perf_counter()
    model = float32_output(build())  # under bfloat16, probabilities still in float32
    with fit_without_copies(model):  # the same training, with less memory
        history = train(model, xtrain, ytrain)
    gc.collect()  # the training's copy of the data sits in reference cycles: free it now
    if not isinstance(history, keras.callbacks.History):
        raise TypeError(f"{train.__name__}() returned {type(history).__name__}, not the History "
                        f"that model.fit returns: end it with 'return model.fit(...)'.")
    info = {"history": {k: [float(v) for v in values] for k, values in history.history.items()},
            "epoch": list(history.epoch), "params": history.params or {},
            "seconds": time.perf_counter() - started, "finished": time.time(), "label": label}
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=folder.parent))
        model.save(staging / "model.keras")
        (staging / "history.json").write_text(json.dumps(info))  # written last: marks it complete
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except OSError as error:
        print(f"(The training of {label} could not be saved for reuse: {error}.)")
    return model, history
