"""What the desktop app loads before its first paint (issue 7, cold start).

Each test runs in a fresh interpreter: in this one, other tests have long since
imported everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def _run(code: str, **env: str) -> str:
    child_env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**child_env, **env},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_window_module_and_engine_load_without_the_document_and_provider_code() -> None:
    out = _run(
        """
        import sys
        from cvjd_desktop.ui.main_window import Engine
        engine = Engine.real()
        heavy = ("cvjd_desktop.documents", "cvjd_desktop.extraction", "cvjd_desktop.llm.factory",
                 "fitz", "pymupdf", "openai", "ollama")
        print(sorted(m for m in heavy if m in sys.modules))
        print(sorted(engine.supported()) == sorted(__import__("cvjd_desktop.documents",
              fromlist=["x"]).SUPPORTED_EXTENSIONS))
        """
    )
    assert out.splitlines() == ["[]", "True"]


def test_extracted_field_models_are_built_on_first_use_even_from_racing_threads() -> None:
    out = _run(
        """
        import threading
        from cvjd_desktop.schemas import CV, JobDescription
        print(CV.__pydantic_complete__, JobDescription.__pydantic_complete__)
        barrier = threading.Barrier(8)
        names = []
        def first_use(i):
            barrier.wait()
            names.append(CV.model_validate({"basics": {"name": f"Ada {i}"}}).basics.name)
        threads = [threading.Thread(target=first_use, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(CV.__pydantic_complete__, sorted(names) == [f"Ada {i}" for i in range(8)])
        """
    )
    assert out.splitlines() == ["False False", "True True"]


def test_gui_entry_point_disables_pydantic_plugins_only_when_unset() -> None:
    code = """
        import os, sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        def report():
            import pydantic.plugin._loader as loader
            print(repr(os.environ.get("PYDANTIC_DISABLE_PLUGINS")), loader._plugins is None)
            os._exit(0)
        QTimer.singleShot(0, report)
        from cvjd_desktop.ui import app as desktop
        desktop.main([])
        """
    assert _run(code) == "'__all__' True"
    assert _run(code, PYDANTIC_DISABLE_PLUGINS="") == "'' False"
