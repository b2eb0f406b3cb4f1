"""Registering agent images. The manifest is read from the image, never from the caller."""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.agents.description import DescriptionTooLong, checked_description
from orchestrator.agents.manifest import Manifest, ManifestError, parse_manifest
from orchestrator.errors import invalid, not_found
from orchestrator.store import AgentRow, Database, utcnow
from sandbox_runner.host.backend import ENTRYPOINT, SandboxBackend
from sandbox_runner.host.images import CONTRACT_LABEL, DESCRIPTION_LABEL, ENTRYPOINT_CONTRACT, MANIFEST_LABEL


def register_agent(db: Database, backend: SandboxBackend, image: str) -> AgentRow:
    if not image.strip():
        raise invalid("image is required: an image reference known to the Docker engine, e.g. corral-agent-x:1234")
    try:
        info = backend.inspect_image(image)
    except LookupError as exc:
        raise not_found(str(exc)) from None
    image_id, labels = info.image_id, info.labels
    if labels.get(CONTRACT_LABEL) != ENTRYPOINT_CONTRACT or info.entrypoint != ENTRYPOINT:
        raise invalid(
            f"image {image!r} does not keep the Corral base image's entrypoint contract "
            f"(label {CONTRACT_LABEL}={ENTRYPOINT_CONTRACT}, ENTRYPOINT {ENTRYPOINT}); build it with `corral build`, "
            "which builds FROM the base image"
        )
    manifest_text = labels.get(MANIFEST_LABEL)
    if not manifest_text:
        raise invalid(f"image {image!r} carries no circuit.toml (label {MANIFEST_LABEL}); build it with `corral build`")
    try:
        manifest = parse_manifest(manifest_text, f"{image}:/agent/circuit.toml")
    except ManifestError as exc:
        raise invalid(str(exc)) from None
    try:
        description = checked_description(labels.get(DESCRIPTION_LABEL, ""), image)
    except DescriptionTooLong as exc:
        raise invalid(str(exc)) from None
    with db.session() as s:
        existing = s.scalar(select(AgentRow).where(AgentRow.image_id == image_id))
        if existing is not None:
            return existing
        row = AgentRow(
            name=manifest.name,
            version=manifest.version,
            image=image,
            image_id=image_id,
            wallet_type=manifest.walletType,
            manifest_toml=manifest_text,
            description=description,
            registered_at=utcnow(),
        )
        s.add(row)
        s.commit()
        return row


def agent_manifest(row: AgentRow) -> Manifest:
    return parse_manifest(row.manifest_toml)
