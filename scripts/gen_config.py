"""Print a config.toml documenting every key with its default (comments from the settings model).

Usage: python scripts/gen_config.py > config.toml   (tests check config.toml lists every key)
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicebot.config import Settings


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def main() -> None:
    s = Settings()
    print("# voicebot configuration. Every key is shown with its default; delete what you do not change.")
    print("# Environment variables override keys: VOICEBOT_<SECTION>_<KEY> (e.g. VOICEBOT_HTTP_PORT=8081),")
    print("# and REDIS_URL overrides redis.url. Secrets (passwords, tokens) belong in the environment.")
    for section, field in Settings.model_fields.items():
        model = field.annotation
        doc = (model.__doc__ or "").strip()
        print(f"\n[{section}]")
        if doc:
            for line in doc.splitlines():
                print(f"# {line.strip()}".rstrip())
        values = getattr(s, section)
        for key, f in model.model_fields.items():
            if f.description:
                print(f"# {f.description}")
            print(f"{key} = {toml_value(getattr(values, key))}")


if __name__ == "__main__":
    main()
