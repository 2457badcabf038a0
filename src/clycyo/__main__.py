from clycyo.cli import main

raise SystemExit(main())
