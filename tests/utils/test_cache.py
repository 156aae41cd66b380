"""utils.trained: a long training runs once and is reused while its code and data are unchanged."""

import linecache
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import utils
from utils import cache

SOURCE = '''
def build():
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])

def settings():
    return {EPOCHS}

def train(model, xtrain, ytrain):
    CALLS.append(1)
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model.fit(xtrain, ytrain, epochs=settings(), verbose=0)
'''


def notebook_functions(epochs=2, name="cell-1"):
    """Functions defined the way IPython defines a cell's functions (source in linecache)."""
    text = SOURCE.replace("{EPOCHS}", str(epochs))
    filename = f"<ipython-input-{name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = {"keras": keras, "CALLS": [], "__name__": "__main__"}
    exec(compile(text, filename, "exec"), scope)
    return scope


@pytest.fixture()
def data(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    return rng.random((64, 32, 32, 3), dtype=np.float32), np.eye(10)[rng.integers(0, 10, 64)]


def test_second_call_reuses_model_and_history(data, capsys):
    ns = notebook_functions()
    model, history = utils.trained(ns["build"], ns["train"], *data)
    again, again_history = utils.trained(ns["build"], ns["train"], *data)
    assert len(ns["CALLS"]) == 1 and "Reusing the training" in capsys.readouterr().out
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert again_history.history.keys() == history.history.keys() and again_history.epoch == [0, 1]
    for name, values in history.history.items():
        assert again_history.history[name] == pytest.approx(values)
    assert again.evaluate(*data, verbose=0)[1] == pytest.approx(model.evaluate(*data, verbose=0)[1])


def test_changed_code_helper_or_data_trains_again(data):
    ns = notebook_functions(epochs=2)
    utils.trained(ns["build"], ns["train"], *data)
    changed_helper = notebook_functions(epochs=1, name="cell-2")  # only settings() differs
    utils.trained(changed_helper["build"], changed_helper["train"], *data)
    assert changed_helper["CALLS"] == [1]
    x, y = data
    utils.trained(ns["build"], ns["train"], x[:32], y[:32])
    utils.trained(ns["build"], ns["train"], *data, retrain=True)
    assert len(ns["CALLS"]) == 3


def test_a_train_function_without_return_is_told_and_nothing_is_kept(data):
    ns = notebook_functions()
    scope = {"keras": keras}
    exec("def train(model, x, y):\n    model.compile(loss='mse', optimizer='sgd')\n"
         "    model.fit(x, y, verbose=0)\n", scope)
    with pytest.raises(TypeError, match="return model.fit"):
        utils.trained(ns["build"], scope["train"], *data)
    assert not any(cache.cache_root().glob("*/history.json"))


FRESH_KERNEL = """
import sys, keras, numpy as np, utils

def build():
    from utils.training import MaxPooling2x2  # imported inside, as the optimised model does

    return keras.Sequential([keras.Input(shape=(32, 32, 3)), MaxPooling2x2(),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])

def train(model, xtrain, ytrain):
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    return model.fit(xtrain, ytrain, epochs=1, verbose=0)

rng = np.random.default_rng(0)
x, y = rng.random((16, 32, 32, 3), dtype=np.float32), np.eye(10)[rng.integers(0, 10, 16)]
model, _ = utils.trained(build, train, x, y)
np.save(sys.argv[1], model.predict(x[:4], verbose=0))
"""


def test_course_layers_round_trip_into_a_new_kernel(tmp_path):
    """A new kernel loads the saved model before it has run the build function, so before the
    function's own import of the course layer; the load must not depend on it."""
    script = tmp_path / "kernel.py"
    script.write_text(FRESH_KERNEL)
    env = {**os.environ, cache.CACHE_ENV: str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, str(script), str(tmp_path / f"run{i}.npy")], env=env,
                           capture_output=True, text=True, timeout=300) for i in (1, 2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr[-2000:]
    assert "Reusing the training" in runs[1].stdout and "could not be loaded" not in runs[1].stdout
    np.testing.assert_allclose(np.load(tmp_path / "run1.npy"), np.load(tmp_path / "run2.npy"))
