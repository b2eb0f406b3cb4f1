"""The host side of sandboxes (never imported inside one; never imports the orchestrator).

- `backend`          the interface every backend implements, and the isolation promise as
                     frozen values (`SandboxLimits`, `SandboxSpec`) each backend translates
- `docker_backend`   one locked-down container per execution (runc or runsc)
- `bwrap_backend`    bubblewrap, with `cgroups` and `seccomp_filter`
- `launcher`         the root launcher the unprivileged orchestrator asks for sandboxes
  (`launcher_cli` starts it, `launcher_client` is the orchestrator's backend that calls it)
- `socket_dirs`      the per-sandbox socket directories, made and removed without following links
- `doorbell`         what a pre-started sandbox waits on until its execution is assigned
- `images`           the offline base image, and agent images from files and a manifest's text
- `image_cache`      where directory images live
"""
