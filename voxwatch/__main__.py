from voxwatch.cli import main

raise SystemExit(main())
