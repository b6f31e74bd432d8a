from sos_pipeline.cli import main

raise SystemExit(main())
