{
  "targets": [
    {
      "target_name": "ferry_libvirt",
      "sources": [
        "src/addon.c",
        "src/args.c",
        "src/classes.c",
        "src/connection.c",
        "src/connection_domains.c",
        "src/connection_info.c",
        "src/constants.c",
        "src/domain.c",
        "src/domain_lifecycle.c",
        "src/domain_migration.c",
        "src/errors.c",
        "src/handles.c",
        "src/js_object.c",
        "src/migrate_params.c",
        "src/op.c",
        "src/results.c",
        "src/runtime.c",
        "src/threads.c",
        "src/typed_params.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "<!@(pkg-config --cflags libvirt)"],
      "libraries": ["<!@(pkg-config --libs libvirt)"]
    }
  ]
}
