from bin_console.cli.dispatch import main

raise SystemExit(main())
