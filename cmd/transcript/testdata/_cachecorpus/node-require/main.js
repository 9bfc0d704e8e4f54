console.log(require("./lib").greet("node"));
