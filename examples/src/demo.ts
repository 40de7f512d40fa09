console.log("ok-demo", process.cwd())
