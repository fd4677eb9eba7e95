"""A patch module's apply() patches once per process, and only the moto release it was verified against."""

from __future__ import annotations

import threading

import moto
import pytest

from localcloud.core.moto_version import SUPPORTED_MOTO_VERSION, applied_once


def test_apply_patches_once_however_often_and_from_however_many_threads_it_is_called() -> None:
    # GIVEN a patch wrapped as a module's apply()
    runs: list[int] = []

    @applied_once
    def apply() -> None:
        runs.append(1)

    # WHEN it is called twice, then from eight threads at once
    apply()
    apply()
    threads = [threading.Thread(target=apply) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN the patch ran once
    assert runs == [1]


def test_apply_refuses_another_moto_release_before_patching_and_names_the_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a moto other than the one the patches were verified against
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    runs: list[int] = []

    @applied_once
    def apply() -> None:
        runs.append(1)

    # WHEN the patch is applied THEN it refuses, naming its module and the supported release, unpatched
    with pytest.raises(
        RuntimeError, match=rf"{__name__} target moto=={SUPPORTED_MOTO_VERSION} but moto 9\.9\.9"
    ):
        apply()
    assert runs == []
    # AND once the supported moto is back, it patches after all
    monkeypatch.setattr(moto, "__version__", SUPPORTED_MOTO_VERSION)
    apply()
    assert runs == [1]
