from bin_console.cli import main

raise SystemExit(main())
