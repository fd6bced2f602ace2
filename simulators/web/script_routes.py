"""The API of recording and replay: save a dialogue as a script, list scripts, run one."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from aiohttp import web

from simulators.scenario import ScriptError, load_script, load_script_text
from simulators.web.config import CONFIG
from simulators.web.fields import BadInput, body, phone, text
from simulators.web.recording import SCRIPT_NAME
from simulators.web.replay import Replay

SHIPPED_SCRIPTS = resources.files("simulators") / "scripts"
MAX_SCRIPT_CHARS = 200_000


def add_script_routes(app: web.Application) -> None:
    app.router.add_get("/api/phones/{id}/recording", _recording)
    app.router.add_post("/api/phones/{id}/recording/restart", _restart_recording)
    app.router.add_post("/api/phones/{id}/recording/save", _save_recording)
    app.router.add_post("/api/phones/{id}/replay", _load_replay)
    app.router.add_post("/api/phones/{id}/replay/step", _replay_step)
    app.router.add_get("/api/scripts", _scripts)


async def _recording(request: web.Request) -> web.Response:
    recorder = phone(request).recorder
    return web.json_response({"steps": len(recorder.steps), "yaml": recorder.document(masked=True)})


async def _restart_recording(request: web.Request) -> web.Response:
    phone(request).restart_recording()
    return web.json_response({"steps": 0, "yaml": ""})


async def _save_recording(request: web.Request) -> web.Response:
    recorder, data = phone(request).recorder, await body(request)
    try:
        path = recorder.save(request.app[CONFIG].scripts_dir, text(data, "name", limit=80).strip())
    except ValueError as exc:
        raise BadInput(400, str(exc)) from None
    return web.json_response(
        {"name": path.stem, "path": str(path), "yaml": recorder.document(masked=True)}
    )


async def _scripts(request: web.Request) -> web.Response:
    folder = request.app[CONFIG].scripts_dir
    saved = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    shipped = sorted(
        item.name.removesuffix(".yaml")
        for item in SHIPPED_SCRIPTS.iterdir()
        if item.name.endswith(".yaml")
    )
    return web.json_response({"saved": saved, "shipped": shipped})


async def _load_replay(request: web.Request) -> web.Response:
    """Load a script: ``{"yaml": text}`` (a file the tester picked) or ``{"name", "source"}``
    (``saved`` in the scripts folder, or ``shipped`` with the simulator)."""
    target, data = phone(request), await body(request)
    try:
        if "yaml" in data:
            name = "uploaded"
            script = load_script_text(text(data, "yaml", limit=MAX_SCRIPT_CHARS))
        else:
            name = text(data, "name", limit=80).strip()
            script = load_script(_script_file(request, name, data.get("source")))
    except ScriptError as exc:
        raise BadInput(400, str(exc)) from None
    async with target.lock:
        await target.end()
        target.replay = Replay(name, script)
        listing = target.replay.listing()
    return web.json_response({"name": name, "steps": listing, "phone": target.view()})


def _script_file(request: web.Request, name: str, source: object) -> Path:
    if not SCRIPT_NAME.match(name):
        raise BadInput(400, "a script name is letters, digits, '_', '-' and '.'")
    item: Traversable | Path
    if source == "shipped":
        item = SHIPPED_SCRIPTS / f"{name}.yaml"
    else:
        item = request.app[CONFIG].scripts_dir / f"{name}.yaml"
    if not item.is_file():
        raise BadInput(404, f"no such script: {name}")
    return Path(str(item))


async def _replay_step(request: web.Request) -> web.Response:
    target = phone(request)
    async with target.lock:
        result = await target.replay_step()
        verdict = target.replay.verdict if target.replay else ""
        return web.json_response({"result": result, "verdict": verdict, "phone": target.view()})
