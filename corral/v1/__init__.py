"""Generated from protos/corral/v1 by `python -m corral.protogen`. Do not edit."""
