"""Generated from protos/corral/v1 by `python -m devtools.protogen`. Do not edit."""
