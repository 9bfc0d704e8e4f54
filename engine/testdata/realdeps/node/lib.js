module.exports = require("./data.json").v
